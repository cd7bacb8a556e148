"""The demo data's parts, by concept; ``server.demo.load_demo`` is the entry point."""
