"""The governance registry: YAML declarations under registry/, loaded with their locations."""

from governance.registry.loader import Located, RegistryFile, load_registry

__all__ = ["Located", "RegistryFile", "load_registry"]
