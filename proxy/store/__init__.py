"""The company's own copy of every exchange: tables, migrations, and the one writer."""
