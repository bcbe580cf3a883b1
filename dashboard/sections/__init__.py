"""The page's sections, one module each (inputs, the results tabs, downloads)."""
