"""The ground floor: what every domain stands on, importing none of them."""
