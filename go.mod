module github.com/cmc-stream/cmc-stream

go 1.26
