"""Sites: the district headquarters, tehsils, blocks, municipalities, offices and CSCs."""
