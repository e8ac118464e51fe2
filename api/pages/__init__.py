"""Pages for people: the hosted survey page and the preference page."""
