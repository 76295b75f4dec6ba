module example.com/tokengate

go 1.26

require (
	github.com/fmsgo/fmsgo v0.0.0-00010101000000-000000000000
	github.com/rs/zerolog v1.35.1
)

require (
	github.com/BurntSushi/toml v1.6.0 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	golang.org/x/sys v0.29.0 // indirect
)

// The fmsgo checkout this module builds against: three folders up inside the repository. A
// module of your own points at your checkout (or drops the replace and requires a release).
replace github.com/fmsgo/fmsgo => ../../..
