"""Provider clients: one package per upstream protocol."""
