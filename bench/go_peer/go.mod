module bytenite-submitd/bench/go_peer

go 1.19
