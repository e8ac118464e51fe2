"""A TCP proxy a test controls, to make a real server go down or hang on cue.

`forward()` relays bytes both ways; `down()` drops every connection and closes
new ones as soon as they arrive (a server that crashed); `hang()` accepts new
connections and stops relaying on all of them, keeping them open (a server, host
or network that stopped answering without saying so).
"""

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.refusing = False
        self.sockets: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def forward(self) -> None:
        self.refusing = False
        self.flowing.set()

    def hang(self) -> None:
        self.refusing = False
        self.flowing.clear()

    def down(self) -> None:
        self.refusing = True
        self.flowing.set()
        self._drop_all()

    def close(self) -> None:
        self.closed = True
        self.flowing.set()
        self.listener.close()
        self._drop_all()

    def _drop_all(self) -> None:
        with self.lock:
            sockets, self.sockets = self.sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _keep(self, *sockets: socket.socket) -> None:
        with self.lock:
            self.sockets.update(sockets)

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            self._keep(client)
            if not self.flowing.is_set():
                continue  # accepted, and never answered
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self._keep(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self.flowing.wait()
                if self.closed or self.refusing:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
