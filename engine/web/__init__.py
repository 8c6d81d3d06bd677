"""The staff's web pages (issue 14): forms generated from triggers' JSON Schemas, and their templates."""
