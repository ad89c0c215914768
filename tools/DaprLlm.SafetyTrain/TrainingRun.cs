using System.Diagnostics;
using System.Globalization;
using DaprLlm.Embeddings;
using DaprLlm.Safety.Classification;
using DaprLlm.Safety.Classification.Evaluation;
using DaprLlm.Safety.Classification.Features;
using DaprLlm.Safety.Classification.Models;
using DaprLlm.Safety.Classification.Policies;
using DaprLlm.Safety.Rules;

namespace DaprLlm.SafetyTrain;

/// <summary>
/// One reproducible training run: load and label the sources, k-fold cross-validate every head, fit Platt
/// calibration on the out-of-fold margins, choose the default policy's thresholds on out-of-fold scores, report
/// cross-validated metrics, then train the shipped heads on all rows.
/// </summary>
internal sealed class TrainingRun(TrainingOptions options, TextWriter log)
{
    // Two cores shared by the whole team: --threads 1 runs a sweep beside other work.
    private readonly ParallelOptions _parallel = new() { MaxDegreeOfParallelism = options.Threads };

    private readonly LogisticTrainer _trainer = new(options.Epochs, L2: options.L2, MaxPositiveWeight: options.MaxPositiveWeight);

    private static readonly DerivedCategory[] Derived =
    [
        new(SafetyCategories.SelfHarmIntent, DerivedScores.SelfHarmIntentCue, SafetyCategories.SelfHarm),
        new(SafetyCategories.SelfHarmInstructions, DerivedScores.SelfHarmInstructionsCue, SafetyCategories.SelfHarm),
        new(SafetyCategories.IllicitViolent, DerivedScores.Min, SafetyCategories.Illicit, SafetyCategories.Violence),
    ];

    public int Run()
    {
        var clock = Stopwatch.StartNew();
        var examples = Load();
        if (examples.Count == 0)
        {
            Console.Error.WriteLine($"no training files found in {options.DataFolder}");
            return 1;
        }

        var featurizer = new HashedTextFeaturizer(options.FeatureBits, options.MaxChars);
        Parallel.ForEach(examples, _parallel, e => e.Features = featurizer.Featurize(e.Row.Text));
        var embedding = options.EmbedTokens > 0
            ? new EmbeddingManifest(SentenceEmbedder.ModelName, options.EmbedTokens, options.EmbeddingScale, options.EmbedModel is null ? null : Path.GetFileName(options.EmbedModel), options.EmbedPooling)
            : null;
        if (embedding is not null)
        {
            var vectors = EmbeddingCache.Embed(examples.Select(e => e.Row.Text).ToList(), embedding, options.Threads, Path.GetDirectoryName(options.EmbedModel) ?? AppContext.BaseDirectory, log);
            for (var i = 0; i < examples.Count; i++)
            {
                examples[i].Features = FeatureVectors.Append(examples[i].Features, vectors[i], featurizer.Dimension, (float)embedding.Scale);
            }
        }

        var dimension = featurizer.Dimension + (embedding?.Length ?? 0);
        AssignFolds(examples);
        log.WriteLine($"{examples.Count} rows featurized in {clock.Elapsed.TotalSeconds:F1} s");

        var heads = HeadLabels.Heads;
        var margins = new double[examples.Count, heads.Count];
        for (var fold = 0; fold < options.Folds; fold++)
        {
            var train = examples.Where(e => e.Fold != fold).ToList();
            var held = Enumerable.Range(0, examples.Count).Where(i => examples[i].Fold == fold).ToList();
            Parallel.For(0, heads.Count, _parallel, h =>
            {
                var (w, b) = _trainer.Train(train, h, dimension, options.Seed + fold * 100 + h);
                foreach (var i in held)
                {
                    margins[i, h] = LinearSafetyModel.Margin(w, b, examples[i].Features);
                }
            });
            log.WriteLine($"fold {fold + 1}/{options.Folds} done at {clock.Elapsed.TotalSeconds:F1} s");
        }

        if (options.DumpMarginsPath is { } dump)
        {
            // For offline study of calibration and ranking choices without retraining (one JSON line per row).
            File.WriteAllLines(dump, Enumerable.Range(0, examples.Count).Select(i => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["source"] = examples[i].Source,
                ["fold"] = examples[i].Fold,
                ["weight"] = examples[i].Weight,
                ["text"] = examples[i].Row.Text,
                ["label"] = examples[i].Row.Label,
                ["labels"] = examples[i].Row.Labels,
                ["heads"] = examples[i].Labels.Select(l => (int)l).ToArray(),
                ["margins"] = Enumerable.Range(0, heads.Count).Select(h => Math.Round(margins[i, h], 4)).ToArray(),
            })));
        }

        var calibrations = heads.Select((_, h) => PlattCalibration.Fit(
            [.. Enumerable.Range(0, examples.Count).Where(i => examples[i].Labels[h] >= 0).Select(i => margins[i, h])],
            [.. Enumerable.Range(0, examples.Count).Where(i => examples[i].Labels[h] >= 0).Select(i => examples[i].Labels[h] == 1)])).ToArray();

        var headMetrics = new List<(string, double, int, int)>();
        for (var h = 0; h < heads.Count; h++)
        {
            var known = Enumerable.Range(0, examples.Count).Where(i => examples[i].Labels[h] >= 0).ToArray();
            var ap = BinaryMetrics.AveragePrecision([.. known.Select(i => margins[i, h])], [.. known.Select(i => examples[i].Labels[h] == 1)]);
            headMetrics.Add((heads[h], ap, known.Length, known.Count(i => examples[i].Labels[h] == 1)));
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{heads[h],-24} out-of-fold AP {ap:F3} over {known.Length} rows; Platt A {calibrations[h].A:F3} B {calibrations[h].B:F3}"));
        }

        // Out-of-fold calibrated scores, the rule verdict of every row and the derived categories: the same inputs
        // the engine's routing sees in service.
        var rules = new RuleEngine(new RuleSet { DenyTerms = DefaultTerms.Deny });
        var oof = new Dictionary<string, double>[examples.Count];
        var verdicts = new RuleVerdict[examples.Count];
        Parallel.For(0, examples.Count, _parallel, i =>
        {
            var scores = new Dictionary<string, double>(StringComparer.Ordinal);
            for (var h = 0; h < heads.Count; h++)
            {
                scores[heads[h]] = calibrations[h].Apply(margins[i, h]);
            }

            var folded = TextNormalizer.Matching.Normalize(examples[i].Row.Text).Text;
            foreach (var derived in Derived)
            {
                scores[derived.Category] = DerivedScores.Compute(derived, folded, scores);
            }

            oof[i] = scores;
            verdicts[i] = rules.Evaluate(examples[i].Row.Text);
        });

        var policy = ThresholdSelection.Choose(examples, oof, verdicts, heads, Derived, $"default-v{options.Version}", log);
        var report = CrossValidationReport.Build(examples, oof, verdicts, policy);
        foreach (var line in report)
        {
            log.WriteLine(line.ToJsonLine());
        }

        Directory.CreateDirectory(options.OutputFolder);
        File.WriteAllLines(Path.Combine(options.OutputFolder, "cv-metrics.jsonl"), report.Select(r => r.ToJsonLine()));
        if (options.CrossValidateOnly)
        {
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cross-validation only: no model written ({clock.Elapsed.TotalSeconds:F1} s)"));
            return 0;
        }

        var finalWeights = new float[heads.Count][];
        var biases = new double[heads.Count];
        Parallel.For(0, heads.Count, _parallel, h =>
        {
            (finalWeights[h], biases[h]) = _trainer.Train(examples, h, dimension, options.Seed + 7919 + h);
        });

        var manifest = new SafetyModelManifest(
            "daprllm-safety-ngram",
            options.Version,
            options.FeatureBits,
            options.MaxChars,
            "safety-model.weights.gz",
            [.. heads.Select((category, h) => new HeadManifest(category, biases[h], calibrations[h].A, calibrations[h].B, 1))],
            Derived,
            policy,
            embedding);
        LinearSafetyModel.Save(Path.Combine(options.OutputFolder, "safety-model.json"), manifest, finalWeights);
        if (options.EmbedModel is { } graph && Path.Combine(Path.GetFullPath(options.OutputFolder), Path.GetFileName(graph)) is var shipped && shipped != graph)
        {
            File.Copy(graph, shipped, overwrite: true); // the heads belong with the graph they were trained on
        }

        File.WriteAllText(Path.Combine(options.OutputFolder, "MODEL_CARD.md"), ModelCard.Write(options, manifest, report, headMetrics,
            examples.GroupBy(e => e.Source).ToDictionary(g => g.Key, g => g.Count()), EvaluateEveryday(Path.Combine(options.OutputFolder, "safety-model.json"))));
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"model written to {options.OutputFolder} in {clock.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }

    private List<TrainingExample> Load()
    {
        var examples = new List<TrainingExample>();
        foreach (var (file, weight) in HeadLabels.Sources)
        {
            var path = Path.Combine(options.DataFolder, file);
            if (!File.Exists(path))
            {
                log.WriteLine($"skipping {file}: not found");
                continue;
            }

            foreach (var row in LabelledRow.ReadFile(path))
            {
                examples.Add(new TrainingExample(file, row, HeadLabels.For(file, row), file switch
                {
                    "hate_davidson_2017.jsonl" => options.DavidsonWeight,
                    "openai_moderation_1680_dev.jsonl" => options.OpenAiWeight,
                    _ => weight,
                }));
            }
        }

        foreach (var path in options.BenignFiles)
        {
            // The default branch of HeadLabels: a negative for every head.
            var rows = LabelledRow.ReadFile(path).ToList();
            examples.AddRange(rows.Select(row => new TrainingExample(Path.GetFileName(path), row, HeadLabels.For(Path.GetFileName(path), row), 1f)));
            log.WriteLine($"{rows.Count} benign rows from {path}");
        }

        foreach (var path in options.FeedbackFiles)
        {
            var source = FeedbackSource(path);
            var rows = LabelledRow.ReadFile(path).ToList();
            examples.AddRange(rows.Select(row => new TrainingExample(source, row, HeadLabels.ForFeedback(row), options.FeedbackWeight)));
            log.WriteLine($"{rows.Count} reviewer labels from {path}");
        }

        return examples;
    }

    // The written model, loaded as the service loads it, on the committed everyday sets (never trained on).
    private List<ModelCard.EverydayEvaluation> EvaluateEveryday(string manifestPath)
    {
        var results = new List<ModelCard.EverydayEvaluation>();
        if (options.EverydaySets is not { } folder || !Directory.Exists(folder))
        {
            return results;
        }

        var engine = SafetyEngine.Load(manifestPath);
        using var model = engine.Model;
        foreach (var file in Directory.GetFiles(folder, "*.jsonl").Order(StringComparer.Ordinal))
        {
            var texts = LabelledRow.ReadFile(file).Select(r => r.Text).ToList();
            foreach (var direction in new[] { ModerationDirection.Input, ModerationDirection.Output })
            {
                var decisions = engine.EvaluateBatch(texts, direction).Select(a => a.Decision).ToList();
                var result = new ModelCard.EverydayEvaluation(Path.GetFileName(file), direction, texts.Count,
                    decisions.Count(d => d == Decisions.Block), decisions.Count(d => d == Decisions.Review));
                results.Add(result);
                log.WriteLine($"{result.File} {direction}: {result.Rows} rows, {result.Blocked} block, {result.Reviewed} review");
            }
        }

        return results;
    }

    /// <summary>The source name reviewer labels are reported under (one line per feedback file in the metrics).</summary>
    public static string FeedbackSource(string path) => "feedback:" + Path.GetFileName(path);

    // Stratified by source and label, so every fold has each file's positives and negatives in proportion.
    private void AssignFolds(List<TrainingExample> examples)
    {
        var random = new Random(options.Seed);
        foreach (var group in examples.GroupBy(e => (e.Source, e.Row.Label)))
        {
            var members = group.ToArray();
            random.Shuffle(members);
            for (var i = 0; i < members.Length; i++)
            {
                members[i].Fold = i % options.Folds;
            }
        }
    }
}
