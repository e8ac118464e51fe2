from api import create_app, heap

app = create_app()
heap.freeze_startup()
