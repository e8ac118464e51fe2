"""The widget scripts as served: versioned URL, long cache, ETag, public CORS, size budgets."""

import gzip

from bench.widget_sizes import BUDGETS, measure


def test_scripts_are_served_for_a_year_with_an_etag(client):
    for name in BUDGETS:
        response = client.get(f"/widgets/v1/{name}")
        assert response.status_code == 200
        assert response.mimetype == "text/javascript"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        etag = response.headers["ETag"]
        again = client.get(f"/widgets/v1/{name}", headers={"If-None-Match": etag})
        assert again.status_code == 304


def test_gzip_is_the_exact_file_compressed(client):
    plain = client.get("/widgets/v1/survey.js").data
    packed = client.get("/widgets/v1/survey.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain


def test_only_the_three_scripts_are_served(client):
    for path in ("/widgets/v1/README.md", "/widgets/v1/x.js", "/widgets/v2/loader.js"):
        assert client.get(path).status_code == 404


def test_the_scripts_stay_within_their_size_budgets():
    for row in measure():
        assert row.gzip <= row.budget, row
