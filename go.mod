module github.com/tachyonws/tachyon

go 1.25

require github.com/klauspost/cpuid/v2 v2.4.2

require (
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
)
