//! The plain code/label lookups: `{id, code, label, status}` each, one line each.

use tis_service_kit::lookup;

lookup!(/** How a curriculum is assessed (ARCP, RITA…). */ AssessmentTypeDto / ASSESSMENT_TYPE, "AssessmentType", "assessment-types", "assessment_type");
lookup!(/** Medical, dental, sub-specialty… */ CurriculumSubTypeDto / CURRICULUM_SUB_TYPE, "CurriculumSubType", "curriculum-sub-types", "curriculum_sub_type");
lookup!(/** A problem with a post's funding. */ FundingIssueDto / FUNDING_ISSUE, "FundingIssue", "funding-issues", "funding_issue");
lookup!(/** A General Dental Council registration status. */ GdcStatusDto / GDC_STATUS, "GdcStatus", "gdc-statuses", "gdc_status");
lookup!(/** A General Medical Council registration status. */ GmcStatusDto / GMC_STATUS, "GmcStatus", "gmc-statuses", "gmc_status");
lookup!(/** A gender. */ GenderDto / GENDER, "Gender", "genders", "gender");
lookup!(/** Why a person's record became inactive. */ InactiveReasonDto / INACTIVE_REASON, "InactiveReason", "inactive-reasons", "inactive_reason");
lookup!(/** Where a trainee went after leaving. */ LeavingDestinationDto / LEAVING_DESTINATION, "LeavingDestination", "leaving-destinations", "leaving_destination");
lookup!(/** Why a trainee left a programme. */ LeavingReasonDto / LEAVING_REASON, "LeavingReason", "leaving-reasons", "leaving_reason");
lookup!(/** A marital status. */ MaritalStatusDto / MARITAL_STATUS, "MaritalStatus", "marital-statuses", "marital_status");
lookup!(/** A medical school. */ MedicalSchoolDto / MEDICAL_SCHOOL, "MedicalSchool", "medical-schools", "medical_school");
lookup!(/** A kind of organisation (NHS trust, GP practice…). */ OrganizationTypeDto / ORGANIZATION_TYPE, "OrganizationType", "organization-types", "organization_type");
lookup!(/** A right-to-work permit. */ PermitToWorkDto / PERMIT_TO_WORK, "PermitToWork", "permit-to-works", "permit_to_work");
lookup!(/** In post, parental leave, out of programme… */ PlacementTypeDto / PLACEMENT_TYPE, "PlacementType", "placement-types", "placement_type");
lookup!(/** Substantive, LAT, FTSTA… */ ProgrammeMembershipTypeDto / PROGRAMME_MEMBERSHIP_TYPE, "ProgrammeMembershipType", "programme-membership-types", "programme_membership_type");
lookup!(/** A recognised qualification. */ QualificationReferenceDto / QUALIFICATION_REFERENCE, "QualificationReference", "qualification-reference", "qualification_reference");
lookup!(/** Primary, postgraduate… */ QualificationTypeDto / QUALIFICATION_TYPE, "QualificationType", "qualification-types", "qualification_type");
lookup!(/** The kind of a person record. */ RecordTypeDto / RECORD_TYPE, "RecordType", "record-types", "record_type");
lookup!(/** A religion or belief. */ ReligiousBeliefDto / RELIGIOUS_BELIEF, "ReligiousBelief", "religious-beliefs", "religious_belief");
lookup!(/** Settled status. */ SettledDto / SETTLED, "Settled", "settleds", "settled");
lookup!(/** A sexual orientation. */ SexualOrientationDto / SEXUAL_ORIENTATION, "SexualOrientation", "sexual-orientations", "sexual_orientation");
lookup!(/** A record status, as a lookup. */ StatusDto / STATUS_LOOKUP, "Status", "statuses", "record_status");
lookup!(/** A title (Dr, Mr, Prof…). */ TitleDto / TITLE, "Title", "titles", "title");
lookup!(/** NTN or DRN. */ TrainingNumberTypeDto / TRAINING_NUMBER_TYPE, "TrainingNumberType", "training-number-types", "training_number_type");
lookup!(/** Where a concern came from. */ ConcernSourceDto / CONCERN_SOURCE, "ConcernSource", "concern-sources", "concern_source");
lookup!(/** The kind of a concern. */ ConcernTypeDto / CONCERN_TYPE, "ConcernType", "concern-types", "concern_type");
lookup!(/** Where a revalidation connection came from. */ ConnectionSourceDto / CONNECTION_SOURCE, "ConnectionSource", "connection-sources", "connection_source");
