using System.Text.Json;
using DaprLlm.Gateway.Audit;
using DaprLlm.Gateway.Auth;
using DaprLlm.Gateway.Backpressure;
using DaprLlm.Gateway.Caching;
using DaprLlm.Gateway.Errors;
using DaprLlm.Gateway.OpenAi;
using DaprLlm.Gateway.Quotas;
using DaprLlm.Gateway.Review;
using DaprLlm.Gateway.Routing;
using DaprLlm.Gateway.Tenants;
using DaprLlm.Gateway.Upstream;
using DaprLlm.Contracts.Inference;
using Microsoft.Extensions.Options;
using CacheResults = DaprLlm.Contracts.Events.RequestReceivedV1.CacheResults;

namespace DaprLlm.Gateway.Chat;

/// <summary>POST /{version}/chat/completions (OpenAI-compatible), whole or streamed.</summary>
public static class ChatCompletionsApi
{
    public static RouteGroupBuilder MapChatCompletions(this RouteGroupBuilder api)
    {
        api.MapPost("/chat/completions", CreateChatCompletion)
            .Accepts<ChatCompletionRequest>("application/json")
            .Produces<ChatCompletionResponse>()
            .Produces<OpenAiError>(400).Produces<OpenAiError>(401).Produces<OpenAiError>(404).Produces<OpenAiError>(429);
        return api;
    }

    private static async Task<IResult> CreateChatCompletion(HttpContext context, GenerationPipeline pipeline, QuotaService quotas, ExactCache cache, SemanticCache semantic,
        AdmissionGates gates, ModelCircuitBreaker breaker, ReviewWebhooks webhooks, RefusalAudit refusals, IOptions<ChatOptions> options, TimeProvider time, ILoggerFactory loggers)
    {
        var caller = context.GetCaller();
        var (request, error) = await JsonBody.ReadAsync<ChatCompletionRequest>(context.Request, options.Value.MaxRequestBytes);
        if (error is not null)
        {
            return error;
        }

        if (ChatCompletionValidator.Validate(request!, options.Value, caller) is { } invalid)
        {
            return invalid;
        }

        if (!webhooks.TryRead(context.Request, out var webhook))
        {
            return InvalidWebhook();
        }

        if (ModerationParameter.Resolve(request!.Moderation, caller.Tenant.StreamingPolicy) is not { } policy)
        {
            return InvalidModeration();
        }

        // Plain loops, no LINQ: this runs on every request.
        var messages = new List<DaprLlm.Contracts.Inference.ChatMessage>(request.Messages!.Count);
        foreach (var m in request.Messages!)
        {
            // OpenAI's "developer" messages are its system messages under a newer name: models know only "system".
            messages.Add(new DaprLlm.Contracts.Inference.ChatMessage(m.Role == "developer" ? "system" : m.Role!, m.Content!));
        }

        var maxTokens = request.MaxCompletionTokens ?? request.MaxTokens ?? options.Value.DefaultMaxTokens;
        var estimate = GenerationContext.EstimatePromptTokens(messages);
        var model = request.Model == ChatOptions.AutoModel ? AutoModel.Pick(options.Value, caller.Tenant, estimate + maxTokens) : request.Model!;
        if (model is null)
        {
            return ChatCompletionValidator.ModelNotFound(ChatOptions.AutoModel);
        }

        var requested = request.Model!;
        var routed = breaker.Route(model);
        if (!caller.Tenant.MayUse(routed))
        {
            // A fallback the tenant may not use is no fallback for it: the asked model answers (or fails) as without one.
            routed = model;
        }

        var fallback = routed != model;
        if (fallback)
        {
            // The asked model's backend is failing: say which model answers instead.
            context.Response.Headers["x-daprllm-fallback-model"] = routed;
            model = routed;
        }

        var (admitted, refusal) = await Admission.AdmitAsync(context, quotas, estimate + maxTokens, time, refusals, requested, model, request.User);
        if (admitted is not { } ticket)
        {
            return refusal!;
        }

        var g = new GenerationContext(RequestIdFilter.Get(context), caller, model, messages, maxTokens, request.Temperature ?? 1.0, request.Seed,
            request.TopP, request.Stop, request.User, policy, estimate, ticket)
        {
            RequestedModel = requested, FallbackUsed = fallback, ApiVersion = ApiVersionOf(context), ReviewWebhook = webhook,
            Controls = SamplingControls.From(request),
        };
        IDisposable? place = null;
        try
        {
            place = await gates.For(model).EnterAsync(caller.Tier, context.RequestAborted);
            if (place is null)
            {
                ticket.Settle(0);
                refusals.Refused(context, caller, requested, model, request.User, DaprLlm.Contracts.Events.RequestCompletedV1.Outcomes.Shed, Shedding.Code);
                return Shedding.Overloaded(context.Response);
            }

            var input = await pipeline.CheckInputAsync(g, context.RequestAborted);
            if (!input.IsAllowed)
            {
                ticket.Settle(0);
                pipeline.Received(g, null);
                pipeline.Publish(g, DaprLlm.Contracts.Events.RequestCompletedV1.Outcomes.RefusedInput, null, 0, 0, input.Decision, null, null, null);
                await pipeline.RememberReviewAsync(g, input, context.RequestAborted);
                return Refusals.Input(input);
            }

            if (request.Stream == true)
            {
                pipeline.Received(g, pipeline.PlannedRegion(g));
                await ChatStream.RunAsync(context, pipeline, g, input, request.StreamOptions?.IncludeUsage == true, options.Value, time, loggers.CreateLogger(typeof(ChatCompletionsApi)));
                return Results.Empty;
            }

            var cacheable = ExactCache.IsCacheable(g, context.Request.Headers[ExactCache.Header] == "on");
            var cacheKey = cache.Enabled && cacheable ? cache.Key(g, input.PolicyVersion) : null;
            if (cacheable && (cache.Enabled || semantic.Enabled))
            {
                g.Cache = CacheResults.Miss;
            }

            // The header says what the audit records: "bypass" for a request no cache may answer (sampled, not opted in).
            context.Response.Headers[ExactCache.Header] = g.Cache;

            if (cacheKey is not null && cache.Get(cacheKey) is { } hit)
            {
                return Cached(context, pipeline, g, input, hit.Result, hit.Region, CacheResults.Hit, hit.Result.PromptTokens, time);
            }

            var probe = cacheable ? await semantic.LookupAsync(g, input.PolicyVersion, context.RequestAborted) : SemanticCache.None;
            if (probe.Hit is { } similar)
            {
                // The usage reports this request's prompt (as the embedding model counted it), all of it cached.
                return Cached(context, pipeline, g, input, similar.Result with { PromptTokens = probe.PromptTokens }, similar.Region,
                    CacheResults.SemanticHit, probe.PromptTokens, time);
            }

            pipeline.Received(g, pipeline.PlannedRegion(g));
            return await CompleteAsync(pipeline, cache, cacheKey, semantic, probe, g, input, time, context.RequestAborted);
        }
        catch (Exception e) when (e is UpstreamException or ResidencyException or BackendFailedException or Dapr.DaprException or HttpRequestException
            || (e is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
        {
            ticket.Settle(0);
            pipeline.Publish(g, DaprLlm.Contracts.Events.RequestCompletedV1.Outcomes.Failed, null, 0, 0, null, null, null, null);
            return context.Response.HasStarted ? Results.Empty : UpstreamErrors.ToResult(e, context, loggers.CreateLogger(typeof(ChatCompletionsApi)));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nothing more was generated for it, so only the prompt estimate is charged.
            ticket.Settle(estimate);
            return Results.Empty;
        }
        finally
        {
            // Whatever ended the request (an exception no catch above expected included), its reservation goes back:
            // a leaked one would hold the key's concurrency slot and leased tokens on every replica. No-op if settled.
            ticket.Settle(estimate);
            place?.Dispose();
        }
    }

    private static async Task<IResult> CompleteAsync(GenerationPipeline pipeline, ExactCache cache, string? cacheKey, SemanticCache semantic, SemanticCache.Probe probe,
        GenerationContext g, SafetyVerdict input, TimeProvider time, CancellationToken ct)
    {
        var (generation, region) = await pipeline.GenerateAsync(g, ct);
        var output = await pipeline.CheckOutputAsync(g, input, generation, region, ct);
        // Charged only once the answer is decided: an output check that fails answers 503 and settles 0 (catch in the
        // handler), so the client never pays for an answer it did not get, and the audit event says the same.
        g.Ticket.Settle(generation.PromptTokens + generation.CompletionTokens);
        await pipeline.RememberReviewAsync(g, output, ct);

        // Only an answer the output check allowed is ever stored.
        if (output.IsAllowed)
        {
            if (cacheKey is not null)
            {
                cache.Put(cacheKey, new ExactCache.Entry(generation, region, g.Caller.TenantId, g.User));
            }

            // Stored under the version lookups compare with (the input check's); the output check allowed it.
            semantic.Put(g, probe, generation, region, input.PolicyVersion);
        }

        return Answer(pipeline, g, input, generation, region, output, time, cached: false);
    }

    private static IResult Cached(HttpContext context, GenerationPipeline pipeline, GenerationContext g, SafetyVerdict input, GenerationResult result, string region,
        string cacheResult, int cachedTokens, TimeProvider time)
    {
        context.Response.Headers[ExactCache.Header] = cacheResult;
        g.Cache = cacheResult;
        g.CachedTokens = cachedTokens;
        pipeline.Received(g, region);
        return Answer(pipeline, g, input, result, region, SafetyVerdictAllowed(input), time, cached: true);
    }

    public static IResult InvalidWebhook() =>
        OpenAiError.InvalidRequest($"{ReviewWebhooks.Header} must be an absolute https URL of a public host", ReviewWebhooks.Header, "invalid_value");

    /// <summary>The API version of the route ("v1", "v2"), from the endpoint's group name.</summary>
    public static string ApiVersionOf(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<IEndpointGroupNameMetadata>()?.EndpointGroupName ?? "v1";

    public static IResult InvalidModeration() =>
        OpenAiError.InvalidRequest("moderation must be an object like {\"stream_policy\":\"buffer\"}; moderation cannot be turned off, and a request may only choose a stricter stream policy than its tenant's", "moderation", "invalid_value");

    private static SafetyVerdict SafetyVerdictAllowed(SafetyVerdict input) => input with { Decision = DaprLlm.Contracts.Safety.ModerationVerdict.Decisions.Allow, ReviewId = null };

    private static IResult Answer(GenerationPipeline pipeline, GenerationContext g, SafetyVerdict input, GenerationResult generation,
        string region, SafetyVerdict output, TimeProvider time, bool cached)
    {
        if (cached)
        {
            // Nothing was generated: the reservation goes back whole; usage reports the prompt as cached tokens.
            g.Ticket.Settle(0);
        }

        var (content, finishReason, outcome) = output.IsAllowed
            ? (generation.Text, generation.FinishReason, DaprLlm.Contracts.Events.RequestCompletedV1.Outcomes.Completed)
            : ("", "content_filter", DaprLlm.Contracts.Events.RequestCompletedV1.Outcomes.FilteredOutput);
        pipeline.Publish(g, outcome, finishReason, generation.PromptTokens, cached ? 0 : generation.CompletionTokens, input.Decision, output.Decision, region, generation.Text);
        if (output.IsReview)
        {
            return Refusals.OutputReview(output);
        }

        return TypedResults.Ok(new ChatCompletionResponse(g.RequestId, "chat.completion", time.GetUtcNow().ToUnixTimeSeconds(), generation.Model,
            [new ChatCompletionChoice(0, new ChatCompletionMessage("assistant", content), finishReason)],
            new ChatCompletionUsage(generation.PromptTokens, generation.CompletionTokens, generation.PromptTokens + generation.CompletionTokens,
                new PromptTokensDetails(cached ? generation.PromptTokens : 0))));
    }
}

/// <summary>Reads the inline <c>moderation</c> parameter: a request may ask for a stricter stream policy, never a looser one.</summary>
public static class ModerationParameter
{
    public static string? Resolve(JsonElement? parameter, string tenantPolicy)
    {
        if (parameter is not { } p || p.ValueKind == JsonValueKind.Null)
        {
            return tenantPolicy;
        }

        if (p.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var policy = tenantPolicy;
        foreach (var property in p.EnumerateObject())
        {
            if (property.Name != "stream_policy" || property.Value.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            var asked = property.Value.GetString()!;
            var askedRank = Strictness(asked);
            if (askedRank < 0 || askedRank < Strictness(tenantPolicy))
            {
                return null;
            }

            policy = asked;
        }

        return policy;
    }

    private static int Strictness(string policy) => policy switch
    {
        Tiers.PolicyAsync => 0,
        Tiers.PolicyWindow => 1,
        Tiers.PolicyBuffer => 2,
        _ => -1,
    };
}

/// <summary>"auto": the smallest configured model whose step covers the estimated request size.</summary>
public static class AutoModel
{
    public static string? Pick(ChatOptions options, Tenant tenant, long estimatedTokens)
    {
        var allowed = options.Models.Where(tenant.MayUse).ToList();
        if (allowed.Count == 0)
        {
            return null;
        }

        var step = (int)Math.Min(allowed.Count - 1, estimatedTokens / options.AutoTokensPerStep);
        return allowed[step];
    }
}
