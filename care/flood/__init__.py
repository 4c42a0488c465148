"""Flood-risk households and their 동행파트너: asked, and asked to go, when heavy rain or a flood alert covers them."""
