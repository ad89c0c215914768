// The exact MiniLM token ids the service computes (DaprLlm.Embeddings.SentenceEmbedder.Tokenize, 64 tokens), one line per
// text of texts.jsonl: Microsoft.ML.Tokenizers' BertTokenizer differs from Hugging Face's basic tokenizer on newlines,
// symbols such as '+' and emoji (about 1 text in 5 of the training rows), so Python must not re-tokenize.
// Usage (after `dotnet build tools/DaprLlm.SafetyTrain -c Release`):
//   dotnet fsi tools/finetune-minilm/tokenize_rows.fsx <work folder>   (reads texts.jsonl and vocab.txt, writes ids.txt)
#r "../DaprLlm.SafetyTrain/bin/Release/net10.0/Microsoft.ML.Tokenizers.dll"
open System
open System.IO
open Microsoft.ML.Tokenizers

let work = fsi.CommandLineArgs.[1]
let tokenizer =
    BertTokenizer.Create(Path.Combine(work, "vocab.txt"), BertOptions(LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true))

let encode (text: string) =
    let limit = 62
    let mutable normalized: string = null
    let mutable consumed = 0
    let mutable pieces = tokenizer.EncodeToIds(text, limit + 32, false, &normalized, &consumed, true, true)
    if pieces.Count < limit then
        pieces <- tokenizer.EncodeToIds(text, false, true, true)
    let kept = min pieces.Count limit
    Array.concat [ [| tokenizer.ClassificationTokenId |]; [| for i in 0 .. kept - 1 -> pieces.[i] |]; [| tokenizer.SeparatorTokenId |] ]

let writer = new StreamWriter(Path.Combine(work, "ids.txt"))
for line in File.ReadLines(Path.Combine(work, "texts.jsonl")) do
    writer.WriteLine(String.Join(" ", encode (Text.Json.JsonDocument.Parse(line).RootElement.GetString())))
writer.Close()
