"""Abusive, hateful or harassing text, in user messages and in answers."""
