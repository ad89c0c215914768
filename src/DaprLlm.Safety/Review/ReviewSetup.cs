using Dapr.Workflow;
using DaprLlm.Safety.Review.Accounts;
using DaprLlm.Safety.Review.Activities;
using DaprLlm.Safety.Review.Workflows;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace DaprLlm.Safety.Review;

/// <summary>Registers the human-review feature: options, store, service, workflow and its activities.</summary>
public static class ReviewSetup
{
    public static WebApplicationBuilder AddReview(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ReviewOptions>().BindConfiguration(ReviewOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ReviewOptions>, ReviewOptionsValidator>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddDaprClient();
        builder.Services.AddSingleton<ReviewStore>();
        builder.Services.AddSingleton<ReviewMetrics>();
        builder.Services.AddSingleton<FeedbackStore>();
        builder.Services.AddSingleton<ReviewPolicy>();
        builder.Services.AddSingleton<ReviewQueueNotifier>();
        builder.Services.AddSingleton<ReviewerDirectory>();
        builder.Services.AddSingleton<ReviewService>();
        builder.Services.AddSingleton<IReviewEscalation>(sp => sp.GetRequiredService<ReviewService>());
        builder.Services.AddDaprWorkflow(RegisterWorkflows);
        return builder;
    }

    public static void RegisterWorkflows(WorkflowRuntimeOptions options)
    {
        options.RegisterWorkflow<ReviewWorkflow>();
        options.RegisterActivity<NotifyReviewersActivity>();
        options.RegisterActivity<GetReviewStatusActivity>();
        options.RegisterActivity<EscalateReviewActivity>();
        options.RegisterActivity<ApplyDefaultDecisionActivity>();
        options.RegisterActivity<PublishDecisionActivity>();
        options.RegisterActivity<CallClientWebhookActivity>();
    }
}
