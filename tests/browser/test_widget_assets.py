"""The widget scripts as served: versioned URL, long cache, ETag, public CORS, size budgets."""

import gzip

from bench.widget_sizes import BUDGETS, measure


def test_scripts_are_cached_long_the_loader_for_an_hour(client):
    for name in BUDGETS:
        response = client.get(f"/widgets/v1/{name}")
        assert response.status_code == 200
        assert response.mimetype == "text/javascript"
        expected = (
            "public, max-age=3600" if name == "loader.js" else "public, max-age=31536000, immutable"
        )
        assert response.headers["Cache-Control"] == expected
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        etag = response.headers["ETag"]
        again = client.get(f"/widgets/v1/{name}", headers={"If-None-Match": etag})
        assert again.status_code == 304


def test_the_loader_asks_for_the_scripts_by_content_hash(client):
    loader = client.get("/widgets/v1/loader.js").get_data(as_text=True)
    for name in ("survey", "referral", "wall"):
        etag = client.get(f"/widgets/v1/{name}.js").headers["ETag"].strip('"')
        assert f'{name}:"{etag[:10]}"' in loader
    for placeholder in ("__SURVEY__", "__REFERRAL__", "__WALL__"):
        assert placeholder not in loader


def test_gzip_is_the_exact_file_compressed(client):
    plain = client.get("/widgets/v1/survey.js").data
    packed = client.get("/widgets/v1/survey.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain


def test_only_the_widget_scripts_are_served(client):
    for path in ("/widgets/v1/README.md", "/widgets/v1/x.js", "/widgets/v2/loader.js"):
        assert client.get(path).status_code == 404


def test_the_scripts_stay_within_their_size_budgets():
    for row in measure():
        assert row.gzip <= row.budget, row
