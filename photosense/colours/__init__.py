"""Colours people search by: naming a photo's dominant colours (:mod:`.naming`) and reading
the colour words of a search query (:mod:`.query`)."""
