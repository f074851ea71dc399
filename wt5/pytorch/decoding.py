"""Greedy decoding of export examples with a Hugging Face T5, without seqio.

`generate` decodes as `greedy_decode.gin` does (argmax, no sampling, one
beam); `decode_ids` turns ids into text exactly as
`seqio.SentencePieceVocabulary.decode` does, with the export's SentencePiece
model read by `sentencepiece_processor`.

    texts = decode_examples(model, examples, processor, eos_id=1,
                            max_length=64, batch_size=32, device="cpu")
      -> ["entailment explanation: ...", ...]
"""

from typing import Any, List, Mapping, Optional, Sequence

from wt5.formats.export import ExportError
from wt5.pytorch import batching


def sentencepiece_processor(vocabulary_path: str,
                            vocab_model: Optional[str] = None) -> Any:
  """The export's SentencePiece model (or `vocab_model`) as a processor.

  sentencepiece_processor(Export("d").vocabulary.path).GetPieceSize() -> 2000
  """
  import sentencepiece as spm
  path = vocab_model or vocabulary_path
  if path.startswith("gs://"):
    raise ExportError(
        "The export's vocabulary %s is on Google Cloud Storage; pass a local "
        "copy with --vocab_model (Hugging Face T5 checkpoints ship it as "
        "spiece.model)" % path)
  processor = spm.SentencePieceProcessor()
  try:
    processor.Load(path)
  except (OSError, RuntimeError) as e:
    raise ExportError("cannot read the vocabulary %s: %s (pass "
                      "--vocab_model)" % (path, e)) from None
  return processor


def decode_ids(processor: Any, ids: Sequence[int], eos_id: int = 1) -> str:
  """Decodes like `seqio.SentencePieceVocabulary.decode`, without TensorFlow.

  Ids past the SentencePiece model (extra ids) become unk, everything after
  the first EOS is dropped, and SentencePiece ignores pad and EOS.

  decode_ids(sp, [0, 37, 5, 1, 0, 0]) -> "entailment"
  """
  size = processor.GetPieceSize()
  unk = processor.unk_id()
  clean = [unk if i >= size else int(i) for i in ids]
  if eos_id in clean:
    clean = clean[:clean.index(eos_id) + 1]
  return processor.DecodeIds(clean)


def generate(model: Any, examples: Sequence[Mapping[str, Any]],
             max_length: int, batch_size: int, device: Any) -> List[List[int]]:
  """Greedy decodes; returns the generated ids of each example (no start id)."""
  import torch
  collator = batching.Collator()
  outputs: List[List[int]] = []
  model.eval()
  with torch.no_grad():
    for start in range(0, len(examples), batch_size):
      batch = collator(examples[start:start + batch_size])
      ids = model.generate(
          input_ids=batch["input_ids"].to(device),
          attention_mask=batch["attention_mask"].to(device),
          max_new_tokens=max_length, do_sample=False, num_beams=1)
      outputs.extend(row[1:] for row in ids.tolist())
  return outputs


def decode_examples(model: Any, examples: Sequence[Mapping[str, Any]],
                    processor: Any, eos_id: int, max_length: int,
                    batch_size: int, device: Any) -> List[str]:
  """The decoded text of each example: `generate`, then `decode_ids`."""
  return [decode_ids(processor, row, eos_id)
          for row in generate(model, examples, max_length, batch_size, device)]
