"""The pages load for a signed-in admin."""


def test_pages_load(as_role, district, make_asset):
    asset = make_asset(district["csc"], "PRJ", model=("Epson", "EB-X51"), serial="X51-1")
    client = as_role("admin")
    for url in [
        "/",
        "/assets/",
        f"/assets/{asset.id}",
        "/sites/",
        f"/sites/{district['hq'].id}",
        "/catalog/",
        "/credentials/",
        "/history/",
        "/users/",
        "/profile",
        f"/assets/{asset.id}/edit",
        "/assets/new",
        "/sites/new",
        "/credentials/new",
    ]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:3000])
