"""The zoo version, in a leaf module so that every other module can read it without importing the package."""

__version__ = "0.1.0"
DISTRIBUTION = "genzoo"  # the name on PyPI (the import name stays zoo; "zoo" there is another project)
