class Inventory:
    """Stock counts by item, a type no built-in materializer knows."""

    def __init__(self, owner: str, items: dict) -> None:
        self.owner = owner
        self.items = dict(items)

    def total(self) -> int:
        return sum(self.items.values())
