# free_port: a port on 127.0.0.1 nothing listens on, chosen below the kernel's ephemeral range.
# A port from the ephemeral range (bind to port 0) can be taken by any outgoing connection (another
# cluster's clients, the tests' own) between the choice and the server's bind: "address already in use".
free_port() {
  python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    port = random.randint(min(20000, low - 1000), low - 1)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port below the ephemeral range")
PY
}
