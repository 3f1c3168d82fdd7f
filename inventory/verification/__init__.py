"""Physical verification (stock-take) visits: scan the tags at a site, compare with the register."""
