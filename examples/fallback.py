"""Take a fallback when a branch can no longer happen: collect(min=0, max=1)."""

import crossflow as cf

NICKNAMES = {"Robert": "Bob", "Elizabeth": "Liz"}


def lookup(name: str) -> str | None:
    """Find the nickname for a name, or None when there is none."""
    return NICKNAMES.get(name)


@cf.workflow
def nickname(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
    (
        builder.chain(scope.start)
        .then(lookup)
        .dispose_on_none()  # None: this branch ends here, with a disposal
        .collect(min=0, max=1)  # [nickname], or [] once nothing can arrive
        .map(lambda found: found[0] if found else "no nickname")
        .connect(scope.terminate)
    )


if __name__ == "__main__":
    for name in ("Robert", "Ada"):
        print(f"{name}: {nickname.run_sync(name)}")
