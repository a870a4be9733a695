import ast
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class MatchingHasNoDjangoTests(unittest.TestCase):
    def test_no_module_imports_django(self):
        paths = list((ROOT / "matching").rglob("*.py"))
        self.assertTrue(paths)
        for path in paths:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = {
                a.name
                for n in ast.walk(tree)
                if isinstance(n, ast.Import)
                for a in n.names
            }
            names |= {
                n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
            }
            self.assertFalse(any(n.split(".")[0] == "django" for n in names), path)

    def test_only_the_cli_does_io(self):
        banned = {"open", "print", "input", "read_text", "write_text", "to_csv"}
        for path in (ROOT / "matching").rglob("*.py"):
            if path.name == "cli.py" or "standardise" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    f = node.func
                    name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
                    self.assertNotIn(name, banned, f"{path}:{node.lineno}")
