-- The Reference schema (postgres). Written by tis_reference::domain::ddl from the entity
-- descriptors; do not edit by hand (see that module).

CREATE TABLE organization_type (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_organization_type_code ON organization_type (LOWER(code));
CREATE INDEX ix_organization_type_code ON organization_type (code);
CREATE INDEX ix_organization_type_label ON organization_type (label);
CREATE INDEX ix_organization_type_status ON organization_type (status);

CREATE TABLE site (
    id BIGSERIAL PRIMARY KEY,
    site_code TEXT,
    site_name TEXT,
    site_known_as TEXT,
    site_number TEXT,
    address TEXT,
    post_code TEXT,
    start_date DATE,
    end_date DATE,
    local_office TEXT,
    trust_code TEXT,
    trust_id BIGINT,
    organisational_unit TEXT,
    organization_type_id BIGINT REFERENCES organization_type (id),
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE')),
    intrepid_id TEXT
);
CREATE UNIQUE INDEX ux_site_site_code ON site (LOWER(site_code));
CREATE INDEX ix_site_site_code ON site (site_code);
CREATE INDEX ix_site_site_name ON site (site_name);
CREATE INDEX ix_site_site_known_as ON site (site_known_as);
CREATE INDEX ix_site_site_number ON site (site_number);
CREATE INDEX ix_site_post_code ON site (post_code);
CREATE INDEX ix_site_start_date ON site (start_date);
CREATE INDEX ix_site_end_date ON site (end_date);
CREATE INDEX ix_site_local_office ON site (local_office);
CREATE INDEX ix_site_trust_code ON site (trust_code);
CREATE INDEX ix_site_trust_code_ci ON site (LOWER(trust_code));
CREATE INDEX ix_site_trust_id ON site (trust_id);
CREATE INDEX ix_site_organisational_unit ON site (organisational_unit);
CREATE INDEX ix_site_organization_type_id ON site (organization_type_id);
CREATE INDEX ix_site_status ON site (status);
CREATE INDEX ix_site_intrepid_id ON site (intrepid_id);

CREATE TABLE trust (
    id BIGSERIAL PRIMARY KEY,
    code TEXT,
    trust_name TEXT,
    trust_known_as TEXT,
    trust_number TEXT,
    address TEXT,
    post_code TEXT,
    local_office TEXT,
    organization_type_id BIGINT REFERENCES organization_type (id),
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE')),
    intrepid_id TEXT
);
CREATE UNIQUE INDEX ux_trust_code ON trust (LOWER(code));
CREATE INDEX ix_trust_code ON trust (code);
CREATE INDEX ix_trust_trust_name ON trust (trust_name);
CREATE INDEX ix_trust_trust_known_as ON trust (trust_known_as);
CREATE INDEX ix_trust_trust_number ON trust (trust_number);
CREATE INDEX ix_trust_post_code ON trust (post_code);
CREATE INDEX ix_trust_local_office ON trust (local_office);
CREATE INDEX ix_trust_organization_type_id ON trust (organization_type_id);
CREATE INDEX ix_trust_status ON trust (status);
CREATE INDEX ix_trust_intrepid_id ON trust (intrepid_id);

CREATE TABLE grade (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    abbreviation TEXT,
    name TEXT,
    label TEXT,
    training_grade BOOLEAN,
    post_grade BOOLEAN,
    placement_grade BOOLEAN,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE')),
    intrepid_id TEXT
);
CREATE UNIQUE INDEX ux_grade_abbreviation ON grade (LOWER(abbreviation));
CREATE INDEX ix_grade_abbreviation ON grade (abbreviation);
CREATE INDEX ix_grade_name ON grade (name);
CREATE INDEX ix_grade_label ON grade (label);
CREATE INDEX ix_grade_training_grade ON grade (training_grade);
CREATE INDEX ix_grade_post_grade ON grade (post_grade);
CREATE INDEX ix_grade_placement_grade ON grade (placement_grade);
CREATE INDEX ix_grade_status ON grade (status);
CREATE INDEX ix_grade_intrepid_id ON grade (intrepid_id);

CREATE TABLE dbc (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    dbc TEXT NOT NULL,
    name TEXT NOT NULL,
    abbr TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE')),
    dbc_type TEXT NOT NULL,
    internal BOOLEAN
);
CREATE UNIQUE INDEX ux_dbc_dbc ON dbc (LOWER(dbc));
CREATE INDEX ix_dbc_dbc ON dbc (dbc);
CREATE INDEX ix_dbc_name ON dbc (name);
CREATE INDEX ix_dbc_abbr ON dbc (abbr);
CREATE INDEX ix_dbc_abbr_ci ON dbc (LOWER(abbr));
CREATE INDEX ix_dbc_status ON dbc (status);
CREATE INDEX ix_dbc_dbc_type ON dbc (dbc_type);
CREATE INDEX ix_dbc_internal ON dbc (internal);

CREATE TABLE local_office (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    abbreviation TEXT NOT NULL,
    name TEXT NOT NULL,
    post_abbreviation TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_local_office_abbreviation ON local_office (LOWER(abbreviation));
CREATE INDEX ix_local_office_abbreviation ON local_office (abbreviation);
CREATE INDEX ix_local_office_name ON local_office (name);
CREATE INDEX ix_local_office_post_abbreviation ON local_office (post_abbreviation);
CREATE INDEX ix_local_office_status ON local_office (status);

CREATE TABLE local_office_contact_type (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_local_office_contact_type_code ON local_office_contact_type (LOWER(code));
CREATE INDEX ix_local_office_contact_type_code ON local_office_contact_type (code);
CREATE INDEX ix_local_office_contact_type_label ON local_office_contact_type (label);
CREATE INDEX ix_local_office_contact_type_status ON local_office_contact_type (status);

CREATE TABLE local_office_contact (
    id UUID PRIMARY KEY,
    local_office_id BIGINT NOT NULL REFERENCES local_office (id),
    contact_type_id UUID NOT NULL REFERENCES local_office_contact_type (id),
    contact TEXT
);
CREATE INDEX ix_local_office_contact_local_office_id ON local_office_contact (local_office_id);
CREATE INDEX ix_local_office_contact_contact_type_id ON local_office_contact (contact_type_id);
CREATE INDEX ix_local_office_contact_contact ON local_office_contact (contact);

CREATE TABLE country (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    country_number TEXT NOT NULL,
    nationality TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_country_nationality ON country (LOWER(nationality));
CREATE INDEX ix_country_country_number ON country (country_number);
CREATE INDEX ix_country_nationality ON country (nationality);
CREATE INDEX ix_country_status ON country (status);

CREATE TABLE nationality (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    country_number TEXT NOT NULL,
    nationality TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_nationality_nationality ON nationality (LOWER(nationality));
CREATE INDEX ix_nationality_country_number ON nationality (country_number);
CREATE INDEX ix_nationality_nationality ON nationality (nationality);
CREATE INDEX ix_nationality_status ON nationality (status);

CREATE TABLE college (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    abbreviation TEXT NOT NULL,
    name TEXT,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_college_abbreviation ON college (LOWER(abbreviation));
CREATE INDEX ix_college_abbreviation ON college (abbreviation);
CREATE INDEX ix_college_name ON college (name);
CREATE INDEX ix_college_status ON college (status);

CREATE TABLE role_category (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    uuid UUID
);
CREATE UNIQUE INDEX ux_role_category_name ON role_category (LOWER(name));
CREATE INDEX ix_role_category_name ON role_category (name);

CREATE TABLE person_role (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE')),
    role_category_id BIGINT REFERENCES role_category (id)
);
CREATE UNIQUE INDEX ux_person_role_code ON person_role (LOWER(code));
CREATE INDEX ix_person_role_code ON person_role (code);
CREATE INDEX ix_person_role_label ON person_role (label);
CREATE INDEX ix_person_role_status ON person_role (status);
CREATE INDEX ix_person_role_role_category_id ON person_role (role_category_id);

CREATE TABLE funding_type (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE')),
    allow_details BOOLEAN
);
CREATE UNIQUE INDEX ux_funding_type_code ON funding_type (LOWER(code));
CREATE INDEX ix_funding_type_code ON funding_type (code);
CREATE INDEX ix_funding_type_label ON funding_type (label);
CREATE INDEX ix_funding_type_status ON funding_type (status);
CREATE INDEX ix_funding_type_allow_details ON funding_type (allow_details);

CREATE TABLE funding_sub_type (
    id UUID PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE')),
    funding_type_id BIGINT NOT NULL REFERENCES funding_type (id)
);
CREATE INDEX ix_funding_sub_type_code ON funding_sub_type (code);
CREATE INDEX ix_funding_sub_type_label ON funding_sub_type (label);
CREATE INDEX ix_funding_sub_type_status ON funding_sub_type (status);
CREATE INDEX ix_funding_sub_type_funding_type_id ON funding_sub_type (funding_type_id);

CREATE TABLE funding_reason (
    id UUID PRIMARY KEY,
    reason TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_funding_reason_reason ON funding_reason (LOWER(reason));
CREATE INDEX ix_funding_reason_reason ON funding_reason (reason);
CREATE INDEX ix_funding_reason_status ON funding_reason (status);

CREATE TABLE tariff_rate (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    grade_id BIGINT,
    grade_abbreviation TEXT,
    tariff_rate TEXT,
    tariff_rate_fringe TEXT,
    tariff_rate_london TEXT,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE INDEX ix_tariff_rate_code ON tariff_rate (code);
CREATE INDEX ix_tariff_rate_grade_id ON tariff_rate (grade_id);
CREATE INDEX ix_tariff_rate_grade_abbreviation ON tariff_rate (grade_abbreviation);
CREATE INDEX ix_tariff_rate_tariff_rate ON tariff_rate (tariff_rate);
CREATE INDEX ix_tariff_rate_tariff_rate_fringe ON tariff_rate (tariff_rate_fringe);
CREATE INDEX ix_tariff_rate_tariff_rate_london ON tariff_rate (tariff_rate_london);
CREATE INDEX ix_tariff_rate_status ON tariff_rate (status);

CREATE TABLE rotation (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    local_office TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_rotation_code ON rotation (LOWER(code));
CREATE INDEX ix_rotation_code ON rotation (code);
CREATE INDEX ix_rotation_label ON rotation (label);
CREATE INDEX ix_rotation_local_office ON rotation (local_office);
CREATE INDEX ix_rotation_status ON rotation (status);

CREATE TABLE ethnic_origin (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_ethnic_origin_code ON ethnic_origin (LOWER(code));
CREATE INDEX ix_ethnic_origin_code ON ethnic_origin (code);
CREATE INDEX ix_ethnic_origin_status ON ethnic_origin (status);

CREATE TABLE assessment_type (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_assessment_type_code ON assessment_type (LOWER(code));
CREATE INDEX ix_assessment_type_code ON assessment_type (code);
CREATE INDEX ix_assessment_type_label ON assessment_type (label);
CREATE INDEX ix_assessment_type_status ON assessment_type (status);

CREATE TABLE curriculum_sub_type (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_curriculum_sub_type_code ON curriculum_sub_type (LOWER(code));
CREATE INDEX ix_curriculum_sub_type_code ON curriculum_sub_type (code);
CREATE INDEX ix_curriculum_sub_type_label ON curriculum_sub_type (label);
CREATE INDEX ix_curriculum_sub_type_status ON curriculum_sub_type (status);

CREATE TABLE funding_issue (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_funding_issue_code ON funding_issue (LOWER(code));
CREATE INDEX ix_funding_issue_code ON funding_issue (code);
CREATE INDEX ix_funding_issue_status ON funding_issue (status);

CREATE TABLE gdc_status (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_gdc_status_code ON gdc_status (LOWER(code));
CREATE INDEX ix_gdc_status_code ON gdc_status (code);
CREATE INDEX ix_gdc_status_label ON gdc_status (label);
CREATE INDEX ix_gdc_status_status ON gdc_status (status);

CREATE TABLE gmc_status (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_gmc_status_code ON gmc_status (LOWER(code));
CREATE INDEX ix_gmc_status_code ON gmc_status (code);
CREATE INDEX ix_gmc_status_label ON gmc_status (label);
CREATE INDEX ix_gmc_status_status ON gmc_status (status);

CREATE TABLE gender (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_gender_code ON gender (LOWER(code));
CREATE INDEX ix_gender_code ON gender (code);
CREATE INDEX ix_gender_label ON gender (label);
CREATE INDEX ix_gender_status ON gender (status);

CREATE TABLE inactive_reason (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_inactive_reason_code ON inactive_reason (LOWER(code));
CREATE INDEX ix_inactive_reason_code ON inactive_reason (code);
CREATE INDEX ix_inactive_reason_label ON inactive_reason (label);
CREATE INDEX ix_inactive_reason_status ON inactive_reason (status);

CREATE TABLE leaving_destination (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_leaving_destination_code ON leaving_destination (LOWER(code));
CREATE INDEX ix_leaving_destination_code ON leaving_destination (code);
CREATE INDEX ix_leaving_destination_label ON leaving_destination (label);
CREATE INDEX ix_leaving_destination_status ON leaving_destination (status);

CREATE TABLE leaving_reason (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_leaving_reason_code ON leaving_reason (LOWER(code));
CREATE INDEX ix_leaving_reason_code ON leaving_reason (code);
CREATE INDEX ix_leaving_reason_label ON leaving_reason (label);
CREATE INDEX ix_leaving_reason_status ON leaving_reason (status);

CREATE TABLE marital_status (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_marital_status_code ON marital_status (LOWER(code));
CREATE INDEX ix_marital_status_code ON marital_status (code);
CREATE INDEX ix_marital_status_label ON marital_status (label);
CREATE INDEX ix_marital_status_status ON marital_status (status);

CREATE TABLE medical_school (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_medical_school_code ON medical_school (LOWER(code));
CREATE INDEX ix_medical_school_code ON medical_school (code);
CREATE INDEX ix_medical_school_label ON medical_school (label);
CREATE INDEX ix_medical_school_status ON medical_school (status);

CREATE TABLE permit_to_work (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_permit_to_work_code ON permit_to_work (LOWER(code));
CREATE INDEX ix_permit_to_work_code ON permit_to_work (code);
CREATE INDEX ix_permit_to_work_label ON permit_to_work (label);
CREATE INDEX ix_permit_to_work_status ON permit_to_work (status);

CREATE TABLE placement_type (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_placement_type_code ON placement_type (LOWER(code));
CREATE INDEX ix_placement_type_code ON placement_type (code);
CREATE INDEX ix_placement_type_label ON placement_type (label);
CREATE INDEX ix_placement_type_status ON placement_type (status);

CREATE TABLE programme_membership_type (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_programme_membership_type_code ON programme_membership_type (LOWER(code));
CREATE INDEX ix_programme_membership_type_code ON programme_membership_type (code);
CREATE INDEX ix_programme_membership_type_label ON programme_membership_type (label);
CREATE INDEX ix_programme_membership_type_status ON programme_membership_type (status);

CREATE TABLE qualification_reference (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_qualification_reference_code ON qualification_reference (LOWER(code));
CREATE INDEX ix_qualification_reference_code ON qualification_reference (code);
CREATE INDEX ix_qualification_reference_label ON qualification_reference (label);
CREATE INDEX ix_qualification_reference_status ON qualification_reference (status);

CREATE TABLE qualification_type (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_qualification_type_code ON qualification_type (LOWER(code));
CREATE INDEX ix_qualification_type_code ON qualification_type (code);
CREATE INDEX ix_qualification_type_label ON qualification_type (label);
CREATE INDEX ix_qualification_type_status ON qualification_type (status);

CREATE TABLE record_type (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_record_type_code ON record_type (LOWER(code));
CREATE INDEX ix_record_type_code ON record_type (code);
CREATE INDEX ix_record_type_label ON record_type (label);
CREATE INDEX ix_record_type_status ON record_type (status);

CREATE TABLE religious_belief (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_religious_belief_code ON religious_belief (LOWER(code));
CREATE INDEX ix_religious_belief_code ON religious_belief (code);
CREATE INDEX ix_religious_belief_label ON religious_belief (label);
CREATE INDEX ix_religious_belief_status ON religious_belief (status);

CREATE TABLE settled (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_settled_code ON settled (LOWER(code));
CREATE INDEX ix_settled_code ON settled (code);
CREATE INDEX ix_settled_label ON settled (label);
CREATE INDEX ix_settled_status ON settled (status);

CREATE TABLE sexual_orientation (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_sexual_orientation_code ON sexual_orientation (LOWER(code));
CREATE INDEX ix_sexual_orientation_code ON sexual_orientation (code);
CREATE INDEX ix_sexual_orientation_label ON sexual_orientation (label);
CREATE INDEX ix_sexual_orientation_status ON sexual_orientation (status);

CREATE TABLE record_status (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_record_status_code ON record_status (LOWER(code));
CREATE INDEX ix_record_status_code ON record_status (code);
CREATE INDEX ix_record_status_label ON record_status (label);
CREATE INDEX ix_record_status_status ON record_status (status);

CREATE TABLE title (
    id BIGSERIAL PRIMARY KEY,
    uuid UUID,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_title_code ON title (LOWER(code));
CREATE INDEX ix_title_code ON title (code);
CREATE INDEX ix_title_label ON title (label);
CREATE INDEX ix_title_status ON title (status);

CREATE TABLE training_number_type (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_training_number_type_code ON training_number_type (LOWER(code));
CREATE INDEX ix_training_number_type_code ON training_number_type (code);
CREATE INDEX ix_training_number_type_label ON training_number_type (label);
CREATE INDEX ix_training_number_type_status ON training_number_type (status);

CREATE TABLE concern_source (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_concern_source_name ON concern_source (LOWER(name));
CREATE INDEX ix_concern_source_name ON concern_source (name);

CREATE TABLE concern_type (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL
);
CREATE UNIQUE INDEX ux_concern_type_code ON concern_type (LOWER(code));
CREATE INDEX ix_concern_type_code ON concern_type (code);
CREATE INDEX ix_concern_type_label ON concern_type (label);

CREATE TABLE connection_source (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT CHECK (status IN ('CURRENT', 'INACTIVE'))
);
CREATE UNIQUE INDEX ux_connection_source_code ON connection_source (LOWER(code));
CREATE INDEX ix_connection_source_code ON connection_source (code);
CREATE INDEX ix_connection_source_label ON connection_source (label);
CREATE INDEX ix_connection_source_status ON connection_source (status);

CREATE TABLE json_patch (
    id BIGSERIAL PRIMARY KEY,
    table_dto_name TEXT NOT NULL,
    patch_id TEXT,
    patch TEXT,
    date_added TIMESTAMPTZ,
    enabled BOOLEAN
);
CREATE INDEX ix_json_patch_table_dto_name ON json_patch (table_dto_name);
CREATE INDEX ix_json_patch_table_dto_name_ci ON json_patch (LOWER(table_dto_name));
CREATE INDEX ix_json_patch_patch_id ON json_patch (patch_id);
CREATE INDEX ix_json_patch_date_added ON json_patch (date_added);
CREATE INDEX ix_json_patch_enabled ON json_patch (enabled);
