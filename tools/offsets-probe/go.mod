module goscope.dev/tools/offsets-probe

go 1.19
