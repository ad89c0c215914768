using DaprLlm.Safety.Moderation;
using DaprLlm.Safety.Review;
using DaprLlm.Safety.ReviewUi;
using DaprLlm.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddModeration();
builder.AddReview();
builder.AddReviewUi();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapModerationApi();
app.MapReviewApi();
app.MapReviewUi();
app.Run();
