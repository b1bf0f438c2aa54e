module github.com/tachyonws/tachyon

go 1.25

require (
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/panjf2000/gnet/v2 v2.9.7
	github.com/valyala/bytebufferpool v1.0.0
)

require (
	github.com/klauspost/compress v1.20.5 // indirect
	github.com/panjf2000/ants/v2 v2.11.3 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.27.0 // indirect
	golang.org/x/sync v0.11.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)
