"""`wt5 data amazon`: the original Amazon reviews TSV files -> TFDS -> seqio.

The TSV files are generated here in the release's format (plain and gzipped,
with malformed rows); the conversion must write exactly the good rows, report
every bad one with its file and line, and the WT5 Amazon tasks must read the
result through seqio.
"""

import collections
import gzip
import os

import pytest
import seqio
import tensorflow_datasets as tfds

import demo_registry
from wt5.datasets import amazon_tsv
from wt5 import cli
from wt5 import tfds_data
from wt5 import tasks

HEADER = ("marketplace\tcustomer_id\treview_id\tproduct_id\tproduct_parent\t"
          "product_title\tproduct_category\tstar_rating\thelpful_votes\t"
          "total_votes\tvine\tverified_purchase\treview_headline\treview_body\t"
          "review_date")
SPM = os.path.join(os.path.dirname(seqio.__file__), "test_data",
                   "sentencepiece", "sentencepiece.model")


def review(i, stars, category="Books"):
  """One good row of the release: 15 tab-separated fields."""
  return [
      "US", str(50000000 + i), "R%012d" % i, "B%09d" % i, str(700000000 + i),
      "Title %d, \"quoted\"" % i, category, str(stars), str(i % 4),
      str(i % 4 + 2), "N" if i % 7 else "Y", "Y" if i % 3 else "N",
      "Headline %d" % i,
      "Body of review %d.<br /><br />Second line & <b>bold</b>" % i,
      "2015-0%d-1%d" % (i % 9 + 1, i % 10)]


def books_rows():
  """(lines of the file, the good rows); 21 good rows and 6 bad ones."""
  good = [review(i, i % 5 + 1) for i in range(21)]
  lines = [HEADER.encode()] + ["\t".join(r).encode("utf-8") for r in good]
  bad = [
      b"US\t1\tonly three",                                        # columns
      "\t".join(review(90, 5) + ["extra"]).encode(),               # columns
      "\t".join(review(91, 0)).encode(),                           # stars
      "\t".join(review(92, 6)).encode(),                           # stars
      "\t".join(review(93, 4)).encode().replace(b"Body", b"B\xffody"),
      "\t".join(review(94, 4)[:8] + ["x"] + review(94, 4)[9:]).encode(),
  ]
  # Bad rows at lines 4, 8, 12, 16, 20, 24 (line 1 is the header).
  for k, line in enumerate(bad):
    lines.insert(3 + 4 * k, line)
  return lines, good


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
  root = tmp_path_factory.mktemp("amazon")
  books_lines, books = books_rows()
  books_path = str(root / "amazon_reviews_us_Books_v1_02.tsv")
  with open(books_path, "wb") as f:
    f.write(b"\n".join(books_lines) + b"\n\n")  # A trailing blank line.
  ebooks = [review(200 + i, (1, 3, 5)[i % 3], "Digital_Ebook_Purchase")
            for i in range(6)]
  ebooks_path = str(root / "amazon_reviews_us_Digital_Ebook_Purchase_v1_01"
                    ".tsv.gz")
  with gzip.open(ebooks_path, "wb") as f:
    f.write(b"\n".join([HEADER.encode()] + [
        "\t".join(r).encode() for r in ebooks] + [b"US\tshort"]) + b"\r\n")
  data_dir = str(root / "tfds")
  messages = []
  counts = amazon_tsv.convert([books_path, ebooks_path], data_dir,
                              report=messages.append)
  return dict(root=root, data_dir=data_dir, counts=counts, messages=messages,
              books=books, ebooks=ebooks, books_path=books_path,
              ebooks_path=ebooks_path)


def as_rows(data_dir, config):
  ds = tfds.load("amazon_us_reviews/%s:0.1.0" % config, data_dir=data_dir,
                 split="train", shuffle_files=False)
  rows = []
  for ex in tfds.as_numpy(ds):
    d = ex["data"]
    rows.append(tuple(
        ("NY"[1 - d[k]] if k in ("vine", "verified_purchase") else
         str(d[k]) if k in ("star_rating", "helpful_votes", "total_votes")
         else d[k].decode("utf-8"))
        for k in amazon_tsv.HEADER))
  return rows


def test_counts_and_reports(converted):
  books = converted["counts"]["Books_v1_02"]
  assert (books.read, books.written) == (27, 21)
  assert books.skipped == {"wrong number of columns": 2,
                           "star rating not 1 to 5": 2, "not UTF-8": 1,
                           "votes not a count": 1}
  assert books.summary() == (
      "read 27, written 21, skipped 6 (not UTF-8: 1, star rating not 1 to 5: "
      "2, votes not a count: 1, wrong number of columns: 2)")
  ebooks = converted["counts"]["Digital_Ebook_Purchase_v1_01"]
  assert (ebooks.read, ebooks.written, dict(ebooks.skipped)) == (
      7, 6, {"wrong number of columns": 1})
  path = converted["books_path"]
  assert converted["messages"] == [
      "%s:4: skipped, wrong number of columns: 3 instead of 15" % path,
      "%s:8: skipped, wrong number of columns: 16 instead of 15" % path,
      "%s:12: skipped, star rating not 1 to 5: '0'" % path,
      "%s:16: skipped, star rating not 1 to 5: '6'" % path,
      "%s:20: skipped, not UTF-8: byte 96" % path,
      "%s:24: skipped, votes not a count: helpful_votes='x'" % path,
      "%s:8: skipped, wrong number of columns: 2 instead of 15" %
      converted["ebooks_path"],
  ]


def test_tfds_reads_exactly_the_good_rows_verbatim(converted):
  data_dir = converted["data_dir"]
  for config, good in (("Books_v1_02", converted["books"]),
                       ("Digital_Ebook_Purchase_v1_01", converted["ebooks"])):
    builder = tfds.builder("amazon_us_reviews/%s:0.1.0" % config,
                           data_dir=data_dir)
    assert builder.info.features.to_json() == tfds.builder(
        "amazon_us_reviews/%s" % config).info.features.to_json()
    assert builder.info.splits["train"].num_examples == len(good)
    assert collections.Counter(as_rows(data_dir, config)) == (
        collections.Counter(tuple(r) for r in good))
  body = {r[12]: r[13] for r in as_rows(data_dir, "Books_v1_02")}
  assert body["Headline 7"] == (
      "Body of review 7.<br /><br />Second line & <b>bold</b>")


def test_the_amazon_tasks_read_the_conversion(converted):
  with demo_registry.registered(converted["data_dir"], SPM):
    task = seqio.get_mixture_or_task(tasks.amazon_task("Books_v1_02"))
    got = collections.Counter()
    sizes = {}
    for split in ("train", "validation"):
      ds = task.get_dataset(None, split=split, shuffle=False)
      pairs = [(ex["inputs_pretokenized"].decode(),
                ex["targets_pretokenized"].decode())
               for ex in ds.as_numpy_iterator()]
      sizes[split] = len(pairs)
      got.update(pairs)
    expected = collections.Counter(
        ("sentiment review: %s %s" % (r[12], r[13]),
         "negative" if int(r[7]) < 3 else "positive")
        for r in converted["books"] if r[7] != "3")
    assert sum(expected.values()) == 17  # 21 rows, 4 with three stars.
    assert got == expected
    # validation = train[:10%] of 21 examples, before the 3-star filter.
    assert sizes["train"] + sizes["validation"] == 17
    assert ("sentiment review: Headline 4 Body of review 4.<br /><br />Second "
            "line & <b>bold</b>", "positive") in got


def test_bad_files_are_clear_errors(tmp_path):
  known = tfds_data.amazon_configs()
  assert "Books_v1_02" in known and "Digital_Ebook_Purchase_v1_01" in known
  assert amazon_tsv.config_from_filename(
      "/x/amazon_reviews_us_Digital_Ebook_Purchase_v1_01.tsv.gz", known) == (
          "Digital_Ebook_Purchase_v1_01")
  with pytest.raises(ValueError) as e:
    amazon_tsv.config_from_filename("/x/amazon_reviews_us_Bookz_v1_00.tsv",
                                    known)
  assert str(e.value) == (
      "/x/amazon_reviews_us_Bookz_v1_00.tsv: 'Bookz_v1_00' is not an "
      "amazon_us_reviews configuration of TFDS; known: " + ", ".join(known))
  with pytest.raises(ValueError, match="not a file of the Amazon reviews"):
    amazon_tsv.config_from_filename("/x/reviews.tsv", known)

  no_header = tmp_path / "amazon_reviews_us_Books_v1_00.tsv"
  no_header.write_text("\t".join(review(1, 5)) + "\n")
  with pytest.raises(ValueError, match=r":? line 1 is not the header"):
    amazon_tsv.convert([str(no_header)], str(tmp_path / "d"))
  assert not os.path.exists(tmp_path / "d")


def test_the_command_line(tmp_path, capsys):
  path = tmp_path / "amazon_reviews_us_Books_v1_00.tsv"
  path.write_text("\n".join([HEADER] + ["\t".join(review(i, 5))
                                        for i in range(3)]) + "\n")
  data_dir = str(tmp_path / "d")
  assert cli.main(["data", "amazon", "--tsv", str(path), "--data_dir",
                   data_dir]) == 0
  out = capsys.readouterr().out.splitlines()
  assert out[0] == ("amazon_us_reviews/Books_v1_00:0.1.0: read 3, written 3, "
                    "skipped 0")
  assert os.path.exists(os.path.join(data_dir, "amazon_us_reviews",
                                     "Books_v1_00", "0.1.0",
                                     "dataset_info.json"))
  assert cli.main(["data", "amazon", "--tsv", str(tmp_path / "nope.tsv"),
                   "--data_dir", data_dir]) == 2
  assert "nope.tsv: no such file" in capsys.readouterr().err


@pytest.mark.beam
@pytest.mark.slow
def test_a_beam_pipeline_writes_the_same(converted):
  data_dir = str(converted["root"] / "tfds_beam")
  messages = []
  counts = amazon_tsv.convert(
      [converted["books_path"], converted["ebooks_path"]], data_dir,
      report=messages.append, pipeline_options=["--runner=DirectRunner"])
  assert counts == converted["counts"]
  assert messages == converted["messages"]
  for config in ("Books_v1_02", "Digital_Ebook_Purchase_v1_01"):
    assert collections.Counter(as_rows(data_dir, config)) == (
        collections.Counter(as_rows(converted["data_dir"], config)))
  assert sorted(os.listdir(data_dir)) == ["amazon_us_reviews"]
