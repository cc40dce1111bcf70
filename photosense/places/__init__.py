"""Places and times: offline reverse geocoding of photo positions, and reading the dates and
place names in a search query ("dog 2023", "beach in Portugal")."""
