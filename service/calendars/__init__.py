"""Calendar sources (adapters) and the sync use case that turns them into event rows."""
