"""`flask demo` and the demo customer site: the advocacy loop can be tried end to end."""

import json

from api.advocacy.models import AdvocacySettings
from api.extensions import db
from demo.site import create_site


def test_the_demo_workspace_asks_for_reviews_and_the_site_embeds_the_wall(
    app, runner, tmp_path, monkeypatch
):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    made = runner.invoke(args=["demo"])
    assert made.exit_code == 0, made.output
    assert "testimonial wall" in made.output
    demo = json.loads((tmp_path / "demo.json").read_text())
    with app.app_context():
        settings = db.session.get(AdvocacySettings, demo["workspace_id"])
        assert settings.review_ask == "everyone" and settings.ask_cooldown_days == 0
        sites = [d["url"] for d in settings.review_destinations]
    assert all(url.startswith(demo["demo_site"] + "/review-site/") for url in sites)

    site = create_site(demo).test_client()
    page = site.get("/").get_data(as_text=True)
    assert "flipfunnel('wall', document.getElementById('wall')" in page
    review_site = site.get("/review-site/g2")
    assert review_site.status_code == 200 and "g2" in review_site.get_data(as_text=True)


def test_a_demo_made_before_advocacy_gets_its_settings(app, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    runner.invoke(args=["demo"])
    demo = json.loads((tmp_path / "demo.json").read_text())
    with app.app_context():
        db.session.delete(db.session.get(AdvocacySettings, demo["workspace_id"]))
        db.session.commit()
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        assert db.session.get(AdvocacySettings, demo["workspace_id"]) is not None
