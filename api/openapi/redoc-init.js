// ReDoc on leadscore's own OpenAPI document. Everything it loads comes from leadscore.
Redoc.init(
  "/openapi.json",
  { expandResponses: "200,201,202", jsonSampleExpandLevel: 3 },
  document.getElementById("redoc"),
);
