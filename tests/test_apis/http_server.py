"""A real HTTP server on 127.0.0.1 for download tests (test helper).

It serves in-memory files, counts every request per path, and can be told to
misbehave for a path: ``'404'``, ``'corrupt'`` (same length, flipped bytes)
or ``'truncate'`` (announces the full length, sends half, closes).

Example:
    >>> with LocalFileServer() as server:
    ...     server.add('/w/a.pth', b'data')
    ...     url = server.url('/w/a.pth')
"""
import http.server
import threading
from collections import Counter


class LocalFileServer:
    def __init__(self):
        self.files = {}
        self.modes = {}
        self.requests = Counter()
        self._httpd = None
        self._thread = None

    def add(self, path, data, mode='ok'):
        self.files[path] = bytes(data)
        self.modes[path] = mode

    def url(self, path):
        return f'http://127.0.0.1:{self.port}{path}'

    @property
    def base_url(self):
        return f'http://127.0.0.1:{self.port}'

    @property
    def port(self):
        return self._httpd.server_address[1]

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                path = self.path.split('?')[0]
                server.requests[path] += 1
                mode = server.modes.get(path)
                if path not in server.files or mode == '404':
                    self.send_error(404, 'Not Found')
                    return
                data = server.files[path]
                if mode == 'corrupt':
                    data = bytes(b ^ 0x5A for b in data[:64]) + data[64:]
                self.send_response(200)
                self.send_header('Content-Type', 'application/octet-stream')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                if mode == 'truncate':
                    self.wfile.write(data[:len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output clean
                pass

        return Handler

    def __enter__(self):
        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def unused_port():
    """A loopback port with nothing listening (for 'network unreachable')."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
