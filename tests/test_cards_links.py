from __future__ import annotations

from pipeline.cards.links import find_links

TEXT = """
Paper: [arXiv:2106.09685v2](https://arxiv.org/abs/2106.09685v2), also https://arxiv.org/pdf/1810.04805.pdf
and old style https://arxiv.org/abs/math.GT/0309136 or arXiv: hep-th/9901001. See
https://huggingface.co/papers/2310.06825 and doi:10.48550/arXiv.1706.03762.
Version 2106.09685 alone is not an id.
Code: https://github.com/huggingface/transformers.git, [repo](https://www.github.com/Foo/Bar).
git@github.com:owner/repo.git https://raw.githubusercontent.com/raw-owner/raw-repo/main/x.py
Not repos: https://github.com/features/actions https://gist.github.com/user/abc
https://api.github.com/repos/x/y https://github.com/justauser notgithub.com/a/b
DOIs: https://doi.org/10.18653/v1/N19-1423. (10.1016/S0140-6736(20)30183-5)
"""


def test_links() -> None:
    links = find_links(TEXT)
    assert links.arxiv_ids == [
        "1706.03762",
        "1810.04805",
        "2106.09685",
        "2310.06825",
        "hep-th/9901001",
        "math.GT/0309136",
    ]
    assert links.github_repos == ["foo/bar", "huggingface/transformers", "owner/repo", "raw-owner/raw-repo"]
    assert links.dois == [
        "10.1016/s0140-6736(20)30183-5",
        "10.18653/v1/n19-1423",
        "10.48550/arxiv.1706.03762",
    ]


def test_no_links() -> None:
    links = find_links("# A model\n\nNothing cited. Version 10.2 of it.\n")
    assert (links.arxiv_ids, links.github_repos, links.dois) == ([], [], [])


def test_arxiv_without_a_link() -> None:
    assert find_links("Paper: arXiv:2106.09685").arxiv_ids == ["2106.09685"]
    assert find_links("see ARXIV: 1810.04805v1").arxiv_ids == ["1810.04805"]
