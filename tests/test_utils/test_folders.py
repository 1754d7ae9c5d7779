"""claim_folder: runs (and launcher nodes) never share a log folder."""
import os.path as osp

from mmcls_ms.utils.folders import claim_folder


def test_runs_started_in_the_same_second_get_their_own_folder(tmp_path):
    paths = [claim_folder(str(tmp_path / 'work' / '20260101_120000')) for _ in range(3)]
    assert [osp.basename(p) for p in paths] == [
        '20260101_120000', '20260101_120000_1', '20260101_120000_2']
    assert all(osp.isdir(p) for p in paths)

