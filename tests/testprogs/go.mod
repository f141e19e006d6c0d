module goscope.test/testprogs

go 1.19
