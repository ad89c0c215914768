using DaprLlm.Safety.Moderation;
using DaprLlm.Safety.Policies;
using DaprLlm.Safety.Review;
using DaprLlm.Safety.ReviewUi;
using DaprLlm.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddModeration();
builder.AddPolicies();
builder.AddReview();
builder.AddReviewUi();

var app = builder.Build();
app.UseJsonErrors();
app.UseDaprAppToken("/dapr", "/actors", "/moderation", "/reviews", "/review/events", "/v1/moderations");
app.MapDefaultEndpoints();
app.MapModerationApi();
app.MapModerationsApi();
app.MapPolicyAdminApi();
app.MapReviewApi();
app.MapReviewUi();
app.Run();
