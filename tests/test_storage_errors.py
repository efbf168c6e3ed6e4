"""A trial that hits a full or unwritable filesystem fails with one line that says so (pure part)."""

import errno

from orchestrator.errors import storage_failure, storage_reason


def test_oserror_errno_names_what_and_the_file():
    err = OSError(errno.ENOSPC, "No space left on device", "/out/trials/a/checkpoint-4/optimizer.pt")
    assert storage_failure(err) == ("no space left on device", "/out/trials/a/checkpoint-4/optimizer.pt")
    assert storage_failure(OSError(errno.EROFS, "Read-only file system"))[0] == "the filesystem became read-only"
    assert storage_failure(PermissionError(errno.EACCES, "Permission denied", "/x"))[0] == "permission denied"
    assert storage_failure(OSError(errno.EDQUOT, "Disk quota exceeded"))[0] == "disk quota exceeded"


def test_found_through_a_library_wrapper_and_in_its_text():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/out/f.bin")
        except OSError as inner:
            raise RuntimeError("while saving the checkpoint") from inner
    except RuntimeError as outer:
        assert storage_failure(outer) == ("no space left on device", "/out/f.bin")
    # safetensors' Rust writer: no OSError anywhere, only the OS's words in the message
    rust = Exception('Error while serializing: IoError(Os { code: 28, kind: StorageFull, '
                     'message: "No space left on device" })')
    assert storage_failure(rust) == ("no space left on device", None)


def test_other_errors_are_not_storage():
    assert storage_failure(ValueError("bad learning rate")) is None
    assert storage_failure(OSError(errno.ECONNREFUSED, "Connection refused")) is None
    assert storage_failure(FileNotFoundError(errno.ENOENT, "No such file", "/x")) is None
    assert storage_reason(KeyError("x"), "/out", "train step") is None


def test_reason_is_one_line_with_place_and_stage():
    line = storage_reason(OSError(errno.ENOSPC, "No space left on device", "/out/t/ck/adapter.bin"),
                          "/out/t", "train step")
    assert "\n" not in line
    assert line.startswith("no space left on device during train step, writing /out/t/ck/adapter.bin: ")
    assert "under /out/t" in storage_reason(OSError(errno.EROFS, "Read-only file system"), "/out/t", "epoch 1 export")
    assert line.endswith("then resume the sweep")   # `toolsweep trial` says what it needs instead
    safetensors_style = RuntimeError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "
                                     "\"No space left on device\" })")
    assert storage_reason(safetensors_style, "/out/run", "export", then="run the trial again").endswith(
        "then run the trial again")


def test_a_cycle_in_the_exception_chain_ends():
    a, b = RuntimeError("a"), RuntimeError("b")
    a.__context__, b.__context__ = b, a
    assert storage_failure(a) is None


def test_a_silent_library_failure_on_a_full_or_read_only_disk_is_put_down_to_it():
    torch_style = RuntimeError("[enforce fail at inline_container.cc:664] . PytorchStreamWriter failed writing file "
                               "data/2: file write failed")
    line = storage_reason(torch_style, "/out/t", "train step", free_bytes=4096)
    assert line.startswith("no space left on device (4 KB free; RuntimeError: [enforce fail")
    assert "during train step, writing under /out/t:" in line
    assert storage_reason(torch_style, "/out/t", "train step", free_bytes=10 << 30) is None
    assert storage_reason(torch_style, "/out/t", "eval", read_only=True).startswith("the filesystem became read-only")
