import pytest


@pytest.fixture(autouse=True)
def upload_temp_dir(settings, tmp_path):
    """Uploads spool here, so a test can prove that no temporary file is left behind."""
    path = tmp_path / "upload-tmp"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    return path


@pytest.fixture
def upload_root(settings):
    return settings.UPLOAD_ROOT
