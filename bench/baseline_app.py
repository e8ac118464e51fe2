"""The bare-Flask baseline our throughput ratios are measured against.

Not our `create_app`: no extensions, no hooks, no logging. Each route does the
least a Flask view can do for its kind of answer.

    gunicorn -c gunicorn.conf.py bench.baseline_app:app
"""

from flask import Flask, redirect

app = Flask(__name__)

REDIRECT_TARGET = "https://example.com/landing"


@app.get("/json")
def constant_json():
    return {"ok": True}


@app.get("/redirect")
def constant_redirect():
    return redirect(REDIRECT_TARGET, code=302)
