"""A workflow that cancels itself, and how to read why it did."""

import crossflow as cf


def parse(text: str) -> cf.Result[int, str]:
    """Read a whole number, or say why the text is not one."""
    if text.isdigit():
        return cf.Ok(int(text))
    return cf.Err(f"{text!r} is not a number")


@cf.workflow
def double(scope: cf.Scope[str, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(parse).fork_result(
        ok=lambda chain: chain.map(lambda n: n * 2).connect(scope.terminate),
        err=lambda chain: chain.dispose(),  # this branch never reaches terminate
    )


if __name__ == "__main__":
    print(double.run_sync("21"))
    try:
        double.run_sync("twenty-one")
    except cf.WorkflowCancelled as err:
        print(f"cancelled: {err.cancellation.cause}")
        match err.cancellation.cause:
            case cf.Unreachable(scope=scope, disposals=disposals):
                print(f"scope {scope!r} could no longer reach terminate after:")
                for disposal in disposals:
                    print(f"  {disposal}")
