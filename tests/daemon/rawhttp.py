"""HTTP/1.1 over a raw socket, for requests a client library would refuse to send
(smuggling shapes, odd targets, slowloris) and for checking that the server closed."""
import socket
import time


class Conn:
    def __init__(self, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.eof = False

    def send(self, data: bytes):
        self.sock.sendall(data)

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def response(self, head: bool = False):
        """Reads one response: (status, headers dict lower-case, body); None at EOF."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                return None
        head_bytes, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        length = 0 if head or status in (204, 304) else int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            if not self._fill():
                break
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def closed_by_server(self, timeout: float = 5.0) -> bool:
        """True when the server closes the connection within the timeout (EOF or reset)
        without sending anything more."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return not self.buf
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return not self.buf
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def request(method: str, target: str, headers: dict | None = None, body: bytes = b"",
            version: str = "HTTP/1.1") -> bytes:
    h = {"Host": "127.0.0.1", **(headers or {})}
    lines = [f"{method} {target} {version}"] + [f"{k}: {v}" for k, v in h.items() if v is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def wait_closed(conns, timeout: float) -> float:
    """Seconds until every connection is closed by the server (raises on timeout)."""
    start = time.monotonic()
    for c in conns:
        left = timeout - (time.monotonic() - start)
        if left <= 0 or not c.closed_by_server(left):
            raise TimeoutError("connection still open")
    return time.monotonic() - start
