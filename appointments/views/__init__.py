"""The portal's pages and endpoints, one module per concern (see the modules)."""
