import argparse


def getResolvedOptions(argv, names):  # noqa: N802 - Glue's name
    parser = argparse.ArgumentParser(allow_abbrev=False)
    for name in names:
        parser.add_argument(f"--{name}", required=True)
    return vars(parser.parse_known_args(argv[1:])[0])
