// Command echo is a WebSocket echo server at /ws beside a page at /, on
// one net/http mux. Open http://127.0.0.1:8080/ in a browser.
package main

import (
	"io"
	"log"
	"net/http"
	"time"

	"github.com/tachyonws/tachyon"
)

const page = `<!doctype html><meta name="viewport" content="width=device-width">
<p>Echoes:</p><script>
const ws = new WebSocket("ws://" + location.host + "/ws");
ws.onopen = () => ws.send("hello");
ws.onmessage = (e) => document.body.append(e.data);
</script>`

func main() {
	var up tachyon.Upgrader // same-origin only; pings after 30 s of silence, 75 s read timeout
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, page) })
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := tachyon.Accept(w, r, &up)
		if err != nil {
			return // the refusal (400, 403, 426, ...) has been written
		}
		defer c.CloseNow()
		for {
			op, msg, err := c.Read(r.Context()) // msg is valid until the next Read
			if err != nil {
				return // the peer closed (tachyon.CloseStatus(err)), or the connection failed
			}
			if err := c.Write(r.Context(), op, msg); err != nil {
				return
			}
		}
	})
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
